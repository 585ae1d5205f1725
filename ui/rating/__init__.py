"""The resident-facing rating window (好差评, 一次一评 at the desk)."""

from ui.rating.rating_window import RatingWindow, ask_for_rating, offered_round, rating_after_preview

__all__ = ["RatingWindow", "ask_for_rating", "offered_round", "rating_after_preview"]
