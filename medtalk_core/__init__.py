"""MEDTalk Live core: the rig, the MEDTalk model, feature front-ends and metrics."""
