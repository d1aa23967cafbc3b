"""The small, fast model configuration every test file starts from."""

SMALL = dict(d_model=16, n_heads=2, n_layers=1, max_iter=3, random_state=0)
