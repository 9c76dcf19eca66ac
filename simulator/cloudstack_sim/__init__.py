"""A CloudStack API simulator: the demo backend and the test double for the SSVM operator."""
