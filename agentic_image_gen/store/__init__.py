"""Run folders: the journal, images, references, the HTML report, uploads."""
