"""Data: datasets as NumPy arrays, seeded batches (`DataLoader`), and augmentation.

`steepest.data.augment` holds the transforms; its public names are re-exported here too.
"""

from steepest.data import augment
from steepest.data.augment import (
    AUGMENTATIONS,
    TTA_VIEWS,
    ColorJitter,
    Compose,
    Cutout,
    GaussianNoise,
    Mixup,
    RandomAffine,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomResizedCrop,
    build_augmentation,
    evaluate_tta,
    tta_predict,
)
from steepest.data.datasets import (
    DATASETS,
    DataError,
    Split,
    check_inputs,
    check_split,
    default_data_dir,
    load_arrays,
    load_cifar10,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_mnist1d,
    mnist1d_cache_path,
    read_idx,
)
from steepest.data.loader import ArrayDataset, DataLoader, random_split, train_val_split
from steepest.data.toy import TOY_CLASSES, TOY_DATASETS, make_toy

__all__ = [
    "AUGMENTATIONS", "ArrayDataset", "ColorJitter", "Compose", "Cutout", "DATASETS", "DataError",
    "DataLoader", "GaussianNoise", "Mixup", "RandomAffine", "RandomCrop", "RandomErasing",
    "RandomHorizontalFlip", "RandomResizedCrop", "Split", "TOY_CLASSES", "TOY_DATASETS",
    "TTA_VIEWS", "augment", "build_augmentation", "check_inputs", "check_split",
    "default_data_dir", "evaluate_tta", "load_arrays", "load_cifar10", "load_dataset",
    "load_digits", "load_fashion_mnist", "load_mnist", "load_mnist1d", "make_toy",
    "mnist1d_cache_path", "random_split", "read_idx", "train_val_split", "tta_predict",
]
