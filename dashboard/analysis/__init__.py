"""The "three highs" analysis (`/analysis`): components, figures, the panels' updates, callbacks."""
