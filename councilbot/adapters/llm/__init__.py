"""Language-model drafters behind one interface (see base.py); ``make_provider`` picks one from settings."""
