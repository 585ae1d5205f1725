"""诉求 (issue 20): intake from the desk page, the request window, its action dialogs and the 块区 editor."""
