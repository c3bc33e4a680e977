"""Where things are: points, bounding boxes, and (later) geocoding and zones."""
