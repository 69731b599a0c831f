"""Models: where weights come from (packages, checksums), the embedders and the text generators."""
