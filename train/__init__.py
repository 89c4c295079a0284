"""Training corpus synthesis and the four MEDTalk training stages."""
