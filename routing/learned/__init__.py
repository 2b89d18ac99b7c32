"""The learned triage models' weights (``<head>.npz``, read by ``routing.classifier``) and what feeds
their training besides the corpus: the office's corrections (``corrections``)."""
