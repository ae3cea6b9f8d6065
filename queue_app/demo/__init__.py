"""``queue-app demo``: its clock in office hours and banner, the simulated back-end systems with
their health URLs and switch, the /demo page, and the demo offices (``branches.yaml``)."""
