"""SM100 array kernel layout (in progress)."""
def _todo(*a, **k):
    raise NotImplementedError("SM100 layout is being written")
sm100_mainloop_shape = sm100_mainloop_storage = sm100_auto_stages = sm100_array_kernel = _todo
