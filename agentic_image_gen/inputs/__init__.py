"""What users give: reference images (paths, URLs, bytes), fetched safely, decoded once."""
