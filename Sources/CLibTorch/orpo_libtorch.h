// orpo_libtorch.h — intentionally empty: CLibTorch exists for the flags pkg-config gives (see module.modulemap).
#pragma once
