"""The web view (Web画面): progress, the review meeting, question history, search and answer books."""
