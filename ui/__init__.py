"""Qt widgets, dialogs and item models. No business rules and no database sessions here."""
