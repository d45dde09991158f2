"""The anonymisation boundary: text scrubbing, image scrubbing and the AnonymisedCase view model.

Everything an audience sees is built from what this package returns; audience templates never see the
ORM case or its identifiers.
"""
