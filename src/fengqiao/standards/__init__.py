"""The four platforms' eight-aspect standard (标准化建设) as versioned data."""
