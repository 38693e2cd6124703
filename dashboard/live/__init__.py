"""The live force map (`/`) and the wall screen (`/wall`): components, callbacks, JSON endpoints."""
