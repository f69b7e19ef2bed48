"""The project's own error types: each message is one line naming the file or param."""


class PipelineError(Exception):
    """Base class for every error a stage reports to the user as a one-line message."""


class DataError(PipelineError):
    """An input file is malformed: bad gzip, bad IDX header, wrong shape or label range."""


class FetchError(PipelineError):
    """A file could not be downloaded and verified from any source."""


class ParamsError(PipelineError):
    """``params.yaml`` is missing a section, has an unknown key or an invalid value."""


class ModelFileError(PipelineError):
    """A saved model file is corrupt, tampered with, or holds types we do not trust."""
