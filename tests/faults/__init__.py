"""Fault-injection runs (``make faults``): a real stack under load, a process or server
killed or stopped in the middle, and an exact account of what was acknowledged and stored."""
