"""Body-camera live views: the strips of tiles (wall, dispatch) and the unit card's view."""
