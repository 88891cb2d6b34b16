"""Images made or checked by the server: admins' uploads and map thumbnails, under `/media/`."""
