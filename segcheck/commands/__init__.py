"""Sub-commands of the segcheck CLI, one module each (``command`` is the click command)."""
