"""The sandbox's resources: fields, types, enums, defaults, relations and links.

One declarative table drives validation, storage, filtering and rendering, so
the emulated API cannot drift between those layers. Field lists, defaults and
`_links` mirror the recorded responses of kf-api-dataservice 1.36.0.
"""

from dataclasses import dataclass
from functools import cached_property

from gwo_assets.sandbox.dataservice import enums

STR, INT, FLOAT, BOOL, DATETIME, STR_LIST, DICT, KF_ID = (
    "str", "int", "float", "bool", "datetime", "str_list", "dict", "kf_id",
)
JSON_KINDS = (STR_LIST, DICT)


@dataclass(frozen=True, eq=False)
class Field:
    """One writable field; ``references`` names the table of a foreign key."""

    name: str
    kind: str = STR
    required: bool = False
    nullable: bool = True
    default: object = None
    choices: tuple = ()
    common_choices: bool = True
    positive: bool = False
    references: str | None = None
    on_delete: str = "CASCADE"
    write_only: bool = False
    in_indexd: bool = False

    @cached_property
    def allowed(self) -> tuple:
        """Every accepted enum value, in the order the error message lists them."""
        extra = enums.COMMON if self.common_choices else ()
        return tuple(dict.fromkeys(self.choices + extra))


@dataclass(frozen=True, eq=False)
class Resource:
    """A collection such as ``/genomic-files`` and the table behind it."""

    entity: str
    path: str
    prefix: str
    fields: tuple[Field, ...]
    links: tuple[tuple[str, str | None], ...]
    unique: tuple[tuple[str, ...], ...] = ()
    output_only: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.entity

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


TIMESTAMPS = ("created_at", "modified_at")


def _relation(name: str, table: str, required: bool = True,
              on_delete: str = "CASCADE") -> Field:
    """A write-only foreign key: accepted in bodies and filters, shown only in _links."""
    return Field(name, KF_ID, required=required, nullable=not required, references=table,
                 on_delete=on_delete, write_only=True)


def _choice(name: str, choices: tuple, kind: str = STR, **kwargs) -> Field:
    return Field(name, kind, choices=choices, **kwargs)


def _texts(*names: str) -> tuple[Field, ...]:
    return tuple(Field(n) for n in names)


def _positive(kind: str, *names: str) -> tuple[Field, ...]:
    return tuple(Field(n, kind, positive=True) for n in names)


VISIBILITY = (
    Field("visible", BOOL, nullable=False, default=True),
    _choice("visibility_reason", enums.VISIBILITY_REASON, common_choices=False),
    Field("visibility_comment"),
)

STUDY = Resource(
    entity="study", path="studies", prefix="SD",
    fields=(
        *_texts("attribution", "biobank_email", "biobank_name",
                "biobank_request_instructions", "biobank_request_link"),
        Field("data_access_authority", default="dbGaP"),
        *_texts("domain"),
        Field("external_id", required=True, nullable=False),
        *_texts("name"),
        Field("parent_study_id", KF_ID, references="study", on_delete="RESTRICT"),
        *_texts("program"),
        _choice("release_status", enums.RELEASE_STATUS),
        *_texts("short_code", "short_name", "version"),
        *VISIBILITY,
    ),
    links=(
        ("investigator", None),  # investigators are not emulated: always null
        ("participants", "/participants?study_id={kf_id}"),
        ("study_files", "/study-files?study_id={kf_id}"),
    ),
)

FAMILY = Resource(
    entity="family", path="families", prefix="FM",
    fields=(
        Field("external_id"),
        _choice("family_type", enums.FAMILY_TYPE),
        *VISIBILITY,
    ),
    links=(("participants", "/participants?family_id={kf_id}"),),
)

PARTICIPANT = Resource(
    entity="participant", path="participants", prefix="PT",
    fields=(
        Field("affected_status", BOOL),
        _choice("diagnosis_category", enums.DIAGNOSIS_CATEGORY),
        _choice("ethnicity", enums.ETHNICITY),
        Field("external_id"),
        _choice("gender", enums.GENDER),
        Field("is_proband", BOOL),
        _choice("race", enums.RACE),
        _choice("species", enums.SPECIES, default="Homo sapiens"),
        _relation("study_id", "study"),
        _relation("family_id", "family", required=False, on_delete="SET NULL"),
        *VISIBILITY,
    ),
    links=(
        ("biospecimens", "/biospecimens?participant_id={kf_id}"),
        ("diagnoses", "/diagnoses?participant_id={kf_id}"),
        ("family", "/families/{family_id}"),
        ("family_relationships", "/family-relationships?participant_id={kf_id}"),
        ("outcomes", "/outcomes?participant_id={kf_id}"),
        ("phenotypes", "/phenotypes?participant_id={kf_id}"),
        ("samples", "/samples?participant_id={kf_id}"),
        ("study", "/studies/{study_id}"),
    ),
    output_only=("alias_group",),
)

SEQUENCING_CENTER = Resource(
    entity="sequencing_center", path="sequencing-centers", prefix="SC",
    fields=(
        Field("external_id"),
        Field("name", required=True, nullable=False),
        *VISIBILITY,
    ),
    links=(
        ("biospecimens", "/biospecimens?sequencing_center_id={kf_id}"),
        ("sequencing_experiments", "/sequencing-experiments?sequencing_center_id={kf_id}"),
    ),
    unique=(("name",),),
)

BIOSPECIMEN = Resource(
    entity="biospecimen", path="biospecimens", prefix="BS",
    fields=(
        Field("age_at_event_days", INT),
        Field("amount", FLOAT),
        Field("amount_units"),
        _choice("analyte_type", enums.ANALYTE_TYPE, required=True, nullable=False),
        *_texts("cell_entity", "composition"),
        *_positive(FLOAT, "concentration_mg_per_ml"),
        *_texts("consent_type", "dbgap_consent_code"),
        Field("duo_ids", STR_LIST),
        *_texts("external_aliquot_id", "external_sample_id"),
        Field("has_matched_normal_sample", BOOL),
        _choice("method_of_sample_procurement", enums.SAMPLE_PROCUREMENT),
        *_texts("ncit_id_anatomical_site", "ncit_id_tissue_type", "preservation_method"),
        Field("shipment_date", DATETIME),
        *_texts("shipment_origin", "source_text_anatomical_site", "source_text_tissue_type",
                "source_text_tumor_descriptor", "spatial_descriptor"),
        _choice("specimen_status", enums.SPECIMEN_STATUS),
        Field("uberon_id_anatomical_site"),
        *_positive(FLOAT, "volume_ul"),
        _relation("participant_id", "participant"),
        _relation("sequencing_center_id", "sequencing_center", on_delete="RESTRICT"),
        *VISIBILITY,
    ),
    links=(
        ("biospecimen_diagnoses", "/biospecimen-diagnoses?biospecimen_id={kf_id}"),
        ("biospecimen_genomic_files", "/biospecimen-genomic-files?biospecimen_id={kf_id}"),
        ("diagnoses", "/diagnoses?biospecimen_id={kf_id}"),
        ("genomic_files", "/genomic-files?biospecimen_id={kf_id}"),
        ("participant", "/participants/{participant_id}"),
        ("sample", None),  # samples are not emulated: always null
        ("sequencing_center", "/sequencing-centers/{sequencing_center_id}"),
    ),
)

SEQUENCING_EXPERIMENT = Resource(
    entity="sequencing_experiment", path="sequencing-experiments", prefix="SE",
    fields=(
        _choice("acquisition_type", enums.ACQUISITION_TYPE),
        Field("adapter_sequencing"),
        _choice("cdna_read", enums.READ),
        *_positive(INT, "cdna_read_offset", "cell_barcode_offset"),
        _choice("cell_barcode_read", enums.READ),
        *_positive(INT, "cell_barcode_size"),
        *_texts("chromatography_approach"),
        _choice("end_bias", enums.END_BIAS),
        Field("enrichment_approach"),
        Field("experiment_date", DATETIME),
        _choice("experiment_strategy", enums.EXPERIMENT_STRATEGY, required=True,
                nullable=False),
        Field("external_id", required=True, nullable=False),
        *_positive(INT, "fraction_number"),
        *_texts("fractionation_approach", "instrument_model", "ion_fragmentation"),
        Field("is_adapter_trimmed", BOOL),
        Field("is_paired_end", BOOL, required=True, nullable=False),
        *_texts("library_construction", "library_name"),
        _choice("library_prep", enums.LIBRARY_PREP),
        _choice("library_selection", enums.LIBRARY_SELECTION),
        _choice("library_strand", enums.LIBRARY_STRAND),
        Field("mass_spec_rawfile_conversion"),
        *_positive(INT, "max_insert_size"),
        *_positive(FLOAT, "mean_depth", "mean_insert_size", "mean_read_length"),
        _choice("platform", enums.PLATFORM, required=True, nullable=False),
        *_texts("proteomics_experiment", "quantification_label_id",
                "quantification_labeling_method", "quantification_technique"),
        _choice("read_pair_number", enums.READ_PAIR_NUMBER),
        _choice("sequencing_mode", enums.SEQUENCING_MODE),
        Field("target_capture_kit"),
        *_positive(INT, "target_cell_number", "total_reads", "umi_barcode_offset"),
        _choice("umi_barcode_read", enums.READ),
        *_positive(INT, "umi_barcode_size"),
        _relation("sequencing_center_id", "sequencing_center", on_delete="RESTRICT"),
        *VISIBILITY,
    ),
    links=(
        ("genomic_files", "/genomic-files?sequencing_experiment_id={kf_id}"),
        ("sequencing_center", "/sequencing-centers/{sequencing_center_id}"),
        ("sequencing_experiment_genomic_files",
         "/sequencing-experiment-genomic-files?sequencing_experiment_id={kf_id}"),
    ),
    output_only=("sequencing_experiment_genomic_files",),
)

INDEXD_FIELDS = (  # plain marshmallow fields in the service: null is never accepted
    Field("acl", STR_LIST, nullable=False, default=(), in_indexd=True),
    Field("authz", STR_LIST, nullable=False, default=(), in_indexd=True),
    Field("file_name", nullable=False, default="", in_indexd=True),
    Field("hashes", DICT, required=True, nullable=False, in_indexd=True),
    Field("metadata", DICT, nullable=False, default={}, in_indexd=True),
    Field("size", INT, required=True, nullable=False, in_indexd=True),
    Field("urls", STR_LIST, required=True, nullable=False, in_indexd=True),
)

GENOMIC_FILE = Resource(
    entity="genomic_file", path="genomic-files", prefix="GF",
    fields=(
        *INDEXD_FIELDS,
        _choice("availability", enums.AVAILABILITY),
        *_texts("cavatica_file_id", "cavatica_volume"),
        Field("controlled_access", BOOL),
        Field("data_category"),
        _choice("data_type", enums.DATA_TYPE),
        *_texts("external_id", "file_format"),
        _choice("file_version_descriptor", enums.FILE_VERSION_DESCRIPTOR),
        Field("is_harmonized", BOOL, default=False),
        _choice("paired_end", enums.PAIRED_END, kind=INT),
        *_texts("reference_genome", "workflow_endpoint", "workflow_tool"),
        _choice("workflow_type", enums.WORKFLOW_TYPE),
        Field("workflow_version"),
        *VISIBILITY,
    ),
    links=(
        ("biospecimen_genomic_files", "/biospecimen-genomic-files?genomic_file_id={kf_id}"),
        ("biospecimens", "/biospecimens?genomic_file_id={kf_id}"),
        ("read_group_genomic_files", "/read-group-genomic-files?genomic_file_id={kf_id}"),
        ("read_groups", "/read-groups?genomic_file_id={kf_id}"),
        ("sequencing_experiment_genomic_files",
         "/sequencing-experiment-genomic-files?genomic_file_id={kf_id}"),
        ("sequencing_experiments", "/sequencing-experiments?genomic_file_id={kf_id}"),
        ("task_genomic_files", "/task-genomic-files?genomic_file_id={kf_id}"),
    ),
    output_only=("latest_did", "access_urls"),
)

BIOSPECIMEN_GENOMIC_FILE = Resource(
    entity="biospecimen_genomic_file", path="biospecimen-genomic-files", prefix="BG",
    fields=(
        Field("external_id"),
        _relation("biospecimen_id", "biospecimen"),
        _relation("genomic_file_id", "genomic_file"),
        *VISIBILITY,
    ),
    links=(
        ("biospecimen", "/biospecimens/{biospecimen_id}"),
        ("genomic_file", "/genomic-files/{genomic_file_id}"),
    ),
    unique=(("genomic_file_id", "biospecimen_id"),),
)

SEQUENCING_EXPERIMENT_GENOMIC_FILE = Resource(
    entity="sequencing_experiment_genomic_file", path="sequencing-experiment-genomic-files",
    prefix="SG",
    fields=(
        Field("external_id"),
        _relation("sequencing_experiment_id", "sequencing_experiment"),
        _relation("genomic_file_id", "genomic_file"),
        *VISIBILITY,
    ),
    links=(
        ("genomic_file", "/genomic-files/{genomic_file_id}"),
        ("sequencing_experiment", "/sequencing-experiments/{sequencing_experiment_id}"),
    ),
    unique=(("sequencing_experiment_id", "genomic_file_id"),),
)

RESOURCES: tuple[Resource, ...] = (
    STUDY, FAMILY, PARTICIPANT, SEQUENCING_CENTER, BIOSPECIMEN, SEQUENCING_EXPERIMENT,
    GENOMIC_FILE, BIOSPECIMEN_GENOMIC_FILE, SEQUENCING_EXPERIMENT_GENOMIC_FILE,
)
BY_PATH: dict[str, Resource] = {r.path: r for r in RESOURCES}
