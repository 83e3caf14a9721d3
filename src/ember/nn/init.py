"""ember.nn.init: in-place parameter initialisers (torch.nn.init)."""
