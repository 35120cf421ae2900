"""The customer data model, dataset specs and the validating loader."""
from toolkit.data.errors import DataError, InsufficientDataError, MissingTableError, SpecError
from toolkit.data.loader import Dataset, load_dataset, prepare_dataset
from toolkit.data.report import LoadReport
from toolkit.data.schema import TABLES
from toolkit.data.spec import DatasetSpec, load_spec, spec_title

__all__ = ["DataError", "InsufficientDataError", "Dataset", "DatasetSpec", "LoadReport", "MissingTableError", "SpecError", "TABLES",
           "load_dataset", "load_spec", "prepare_dataset", "spec_title"]
