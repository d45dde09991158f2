"""Minutes: assembled from what the meeting recorded, edited by the chair, published and distributed."""
