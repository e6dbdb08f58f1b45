"""councilbot: the council-answer (議会答弁) workflow, from question intake to the answer book."""

__version__ = "0.1.0"
