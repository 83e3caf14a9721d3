"""`ember.backends.cudnn`: flags scripts set for reproducibility; they change nothing on ember."""
enabled = False
deterministic = False
benchmark = False


def is_available() -> bool:
    return False
