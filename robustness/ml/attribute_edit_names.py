"""The attribute edits an evaluation can name, without importing OpenCV.

Parameter checks run when an evaluation is requested (in the web process); the edits themselves are
registered in ``robustness.ml.attribute_edits`` (which imports cv2). A test keeps the two equal.
"""

EDIT_NAMES = ("null", "background_swap", "object_scale", "object_position", "object_rotation")
DEFAULT_EDITS = EDIT_NAMES
