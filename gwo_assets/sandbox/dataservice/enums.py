"""DataService enum values, as the recorded service lists them in its error messages.

The recorded lists (files 071, 087, 111) are the source of truth for the
fields a loader touches; the rest follow kf-api-dataservice 1.36.0. Every enum
except ``visibility_reason`` also accepts ``COMMON``, like the real service.
"""

COMMON = (
    "Not Reported", "Not Applicable", "Not Allowed To Collect", "Not Available",
    "Reported Unknown",
)

DATA_TYPE = (
    "Adapter Stat", "Adapter Stats", "Aligned Read", "Aligned Read Index", "Aligned Reads",
    "Aligned Reads Index", "Alignment Metrics", "Alignment Stat", "Alignment Stats",
    "Alignment Summary", "Alternative Splicing", "Annotated Gene Fusion",
    "Annotated Germline Copy Number Segments", "Annotated Germline Structural Variation",
    "Annotated Somatic Copy Number Segment", "Annotated Somatic Mutation",
    "Annotated Somatic Mutation Index", "Annotated Somatic Mutations",
    "Annotated Tumor Only Mutation", "Annotated Tumor Only Mutation Index",
    "Annotated Variant Call", "Annotated Variant Call Index", "Artifact Metric",
    "Artifact Metrics", "Chimeric Aligned Read", "Chimeric Aligned Reads",
    "Consensus Somatic Mutation", "Consensus Somatic Mutation Index",
    "Contamination Estimation", "Control Copy Number", "Control Copy Number Segment",
    "Cutadapter Metrics", "Denoised Germline Copy Ratios", "Expression",
    "Expression Counts", "Extra-Chromosomal DNA", "Familial Relationship",
    "Familial Relationship Report", "Familial Relationships",
    "Familial Relationships Report", "GC Metric", "GC Metrics", "Gender Metric",
    "Gender Metrics", "Gender QC Metric", "Gender QC Metrics", "Gene Expression",
    "Gene Expression Count", "Gene Expression Quantification", "Gene Fusion",
    "Gene Fusions", "Gene Level Copy Number", "Genome Aligned Read",
    "Genome Aligned Read Index", "Genome Aligned Reads", "Genome Aligned Reads Index",
    "Genomic Variant", "Genomic Variant Index", "Genotyped Germline Copy Number Intervals",
    "Genotyped Germline Copy Number Intervals Index",
    "Genotyped Germline Copy Number Segments",
    "Genotyped Germline Copy Number Segments Index",
    "Germline Copy Number Read Depth Stats", "gVCF", "gVCF Index", "Het Call QC Metric",
    "Het Call QC Metrics", "Histology Image", "Histology Images", "HLA Genotyping",
    "Insert Size Metric", "Insert Size Metrics", "Isoform Expression",
    "Isoform Expression Quantification", "Masked Consensus Somatic Mutation",
    "Masked Consensus Somatic Mutation Index", "Masked Somatic Mutation",
    "Masked Somatic Mutation Index", "Masked Tumor Only Mutation",
    "Masked Tumor Only Mutation Index", "Operation Report", "Operation Reports", "Other",
    "Pathology Report", "Pathology Reports", "Pre-pass Somatic Structural Variation",
    "Pre-pass Somatic Structural Variation Index",
    "Pre-pass Tumor Only Structural Variation",
    "Pre-pass Tumor Only Structural Variation Index", "QC Metric", "QC Metrics",
    "Quality Score Distribution", "Radiology Image", "Radiology Images", "Radiology Report",
    "Radiology Reports", "Raw Gene Fusion", "Raw Germline Copy Number Segments",
    "Raw Germline Structural Variation", "Raw Germline Structural Variation Index",
    "Raw Simple Somatic Mutation", "Raw Simple Somatic Mutation Index",
    "Raw Somatic Copy Number Segment", "Raw Somatic Structural Variation",
    "Raw Somatic Structural Variation Index", "Raw Tumor Only Copy Number Segment",
    "Raw Tumor Only Structural Variation", "Raw Tumor Only Structural Variation Index",
    "Raw Variant Call", "Raw Variant Call Index", "Recalibration Report",
    "Reference Copy Number Profiling", "Relatedness QC Metric", "Relatedness QC Metrics",
    "RNAseq Alignment Metrics", "Simple Nucleotide Variation",
    "Simple Nucleotide Variations", "Single Cell QC Metrics", "Somatic Copy Number BAF",
    "Somatic Copy Number Diagram", "Somatic Copy Number Metrics",
    "Somatic Copy Number Ratio", "Somatic Copy Number Scatter",
    "Somatic Copy Number Segment", "Somatic Copy Number Subclone Segment",
    "Somatic Copy Number Variation", "Somatic Copy Number Variations",
    "Somatic Structural Variation", "Somatic Structural Variations", "Splice Junction",
    "STAR Cell Ranger Counts", "STAR Single Cell Counts", "Tool Log",
    "Transcriptome Aligned Read", "Tumor Copy Number", "Tumor Copy Number Segment",
    "Tumor Only Assembled Haplotypes", "Tumor Only Assembled Haplotypes Index",
    "Tumor Only Copy Number BAF", "Tumor Only Copy Number Ratio",
    "Tumor Only Copy Number Variation", "Tumor Only Structural Variation",
    "Tumor Ploidy and Purity", "Tumor Purity", "Unaligned Read", "Unaligned Reads",
    "Variant Call", "Variant Call Index", "Variant Calling Metrics", "Variant Calls",
    "Variant Calls Index", "Variant Summary", "WGS Metric", "WGS Metrics", "WXS Metric",
    "WXS Metrics",
)

WORKFLOW_TYPE = (
    "10x-Single-Cell-Alignment", "Alignment", "Family-Joint-Genotyping",
    "GATK-HaplotypeCaller-gVCF", "Germline-Mutation", "Long-Reads-Mutation",
    "RNAseq-Analysis", "Single-VCF-Genotyping", "Somatic-Mutation", "Tumor-Only-Mutation",
)

EXPERIMENT_STRATEGY = (
    "Circular Consensus Sequencing RNA-Seq", "Circular Consensus Sequencing WGS",
    "Continuous Long Reads RNA-Seq", "Continuous Long Reads WGS",
    "Linked-Read WGS (10x Chromium)", "Methylation", "miRNA-Seq", "ONT WGS", "Other",
    "Panel", "Proteomics", "RNA-Seq", "scRNA-Seq", "snATAC-Seq", "snRNA-Seq",
    "Targeted Sequencing", "WGS", "WXS",
)

VISIBILITY_REASON = (
    "Consent Hold", "Other", "Pre-Release", "Ready For Release", "Sample Issue",
    "Sequencing Quality Issue", "Unknown",
)

AVAILABILITY = ("Immediate Download", "Cold Storage")
FILE_VERSION_DESCRIPTOR = ("latest", "previous", "unharmonized")
PAIRED_END = (1, 2)

RELEASE_STATUS = (
    "Pending", "Waiting", "Running", "Staged", "Publishing", "Published", "Failed",
    "Canceled",
)
FAMILY_TYPE = ("Proband Only", "Duo", "Duo+", "Trio", "Trio+", "Other")

GENDER = ("Male", "Female", "Other")
ETHNICITY = ("Hispanic or Latino", "Not Hispanic or Latino")
RACE = (
    "White", "American Indian or Alaska Native", "Black or African American", "Asian",
    "Native Hawaiian or Other Pacific Islander", "Other", "More Than One Race",
)
DIAGNOSIS_CATEGORY = (
    "Structural Birth Defect", "Cancer", "Structural Birth Defect and Cancer", "Other",
    "None",
)
SPECIES = ("Canis lupus familiaris", "Drosophila melanogaster", "Homo sapiens", "Mus musculus")

ANALYTE_TYPE = ("DNA", "RNA", "Other", "Virtual")
SAMPLE_PROCUREMENT = (
    "Autopsy", "Biopsy", "Subtotal Resections", "Gross Total Resections", "Blood Draw",
    "Bone Marrow Aspiration", "Other", "Surgical Resections", "Blood Collection - Proband",
    "Saliva Collection - Proband", "Blood Collection - Maternal",
    "Saliva Collection - Maternal", "Blood Collection - Paternal",
    "Saliva Collection - Paternal", "Saliva Kit",
)
SPECIMEN_STATUS = (
    "Disposed", "Not Available", "OnSite", "Other", "Pathology governed", "Shipped",
    "Shipped - Genomic Data Available", "Unknown", "Virtual",
)

PLATFORM = (
    "DNBSEQ", "Illumina", "SOLiD", "LS454", "Ion Torrent", "Complete Genomics", "PacBio",
    "ONT", "Other", "Illumina Infinium HumanMethylation450",
    "Illumina Infinium HumanMethylationEPIC", "Illumina Infinium HumanMethylationEPICv2",
    "Illumina Infinium HumanMethylation27k", "Roche NimbleGen MethylationSeq",
    "Agilent SurePrint Methyl-Seq", "Orbitrap Fusion Lumos", "Q Exactive HF",
    "Triple TOF 6600",
)
LIBRARY_STRAND = ("Stranded", "Unstranded", "First Stranded", "Second Stranded", "Other")
LIBRARY_SELECTION = (
    "Hybrid Selection", "PCR", "Affinity Enrichment", "Poly-T Enrichment", "Random",
    "rRNA Depletion", "miRNA Size Fractionation", "Other",
)
LIBRARY_PREP = ("polyA", "totalRNAseq", "Other")
READ_PAIR_NUMBER = ("R1", "R2", "Not Applicable")
READ = ("index1", "index2", "read1", "read2", "Not Applicable")
SEQUENCING_MODE = ("CLR", "CCS", "Not Applicable")
END_BIAS = ("3-end", "5-end", "full-length", "Not Applicable")
ACQUISITION_TYPE = ("DDA", "DIA")
