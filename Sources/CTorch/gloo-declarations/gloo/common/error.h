// gloo/common/error.h — stands in for gloo's header of that name; see declarations.h.
#pragma once
#include "../declarations.h"
