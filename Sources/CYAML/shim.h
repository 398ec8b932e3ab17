// LibYAML from the Debian package libyaml-dev (libyaml-0-2 at run time): the parser Yams embeds,
// called directly so that reading the configuration pulls in no Foundation (issue 12).
#include <yaml.h>
