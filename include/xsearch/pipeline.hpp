// The jobs of xsearch over a library, one header per subject; this umbrella includes them all.
#pragma once

#include "xsearch/classify.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/ingest.hpp"
#include "xsearch/library_tools.hpp"
#include "xsearch/model_resolution.hpp"
#include "xsearch/query.hpp"
