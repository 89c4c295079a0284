"""The ``medtalk`` console command."""
