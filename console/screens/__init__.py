"""The console's views, one per file; `view.ViewScreen` is the shape they share."""
