"""Pure rules: no I/O, no clock, no environment. "now" and settings arrive as arguments."""
