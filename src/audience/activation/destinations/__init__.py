"""Where segments go: signed webhooks (:mod:`.webhook`, guarded by :mod:`.netguard`) and
file exports (:mod:`.exports`)."""
