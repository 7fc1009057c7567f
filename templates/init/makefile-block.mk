include htdemucs-devops.mk
