"""Shared by the desk and the district server: vocabulary, the case machine and actions, working days, wire models,
errors. No Qt, no desk services."""
