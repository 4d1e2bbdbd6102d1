"""nbgrader's cell-metadata check, with its JSON schema compiled once per notebook instead of once per cell.

nbgrader's ``CheckCellMetadata`` validates every nbgrader cell with ``jsonschema.validate(metadata,
schema)``, and that function checks the *schema itself* against the JSON Schema meta-schema on
every call: 0.4 s of the 0.45 s the check takes on this notebook (96 cells), paid twice per graded
notebook (sanitising and autograding passes) on the worker's CPU. The checks are nbgrader's own,
unchanged: schema versions, the schema, and everything ``MetadataValidatorV3`` adds (grade ids,
points, cell types, unique ids).
"""
import traceback

import jsonschema
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator, SchemaTooNewError, SchemaTooOldError
from nbgrader.preprocessors import CheckCellMetadata


class _CompiledSchema(BaseMetadataValidator):
    """``BaseMetadataValidator.validate_cell`` with a validator built once (its version checks copied)."""

    def __init__(self):
        super().__init__()
        validator_class = jsonschema.validators.validator_for(self.schema)
        validator_class.check_schema(self.schema)  # what jsonschema.validate does first, here once
        self._validator = validator_class(self.schema)

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        if schema > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class CompiledMetadataValidator(MetadataValidator, _CompiledSchema):
    """nbgrader's current ``MetadataValidator``; its ``super().validate_cell`` reaches ``_CompiledSchema``."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """``CheckCellMetadata`` with :class:`CompiledMetadataValidator` (same errors, same log, same message)."""

    def preprocess(self, nb, resources):
        # nbgrader's CheckCellMetadata.preprocess, copied because it builds its validator by name
        try:
            CompiledMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources
