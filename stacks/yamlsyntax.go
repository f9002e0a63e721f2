package stacks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	yamlErrLine = regexp.MustCompile(`line (\d+): (.*)`)
	// aliasValue is a value starting with *: after "key: ", "- ", "{" or "[", up to what ends it.
	aliasValue     = regexp.MustCompile(`(?:^|: |- |[{\[,] ?)(\*[^,}\]]*)`)
	yamlDuplicated = regexp.MustCompile(`line (\d+): mapping key "([^"]*)" already defined at line (\d+)`)
)

// yamlSyntaxError names the file and line of a YAML syntax error (file:line:, as every problem of
// a file), with the fix of the common cases: a value starting with * (an alias to YAML, e.g. a
// cron schedule) and a key given twice. Other errors are the parser's words, after the file's name.
func yamlSyntaxError(file string, content []byte, err error) error {
	msg := err.Error()
	if m := yamlDuplicated.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %q is given twice (first at line %s): YAML keeps one value per key; remove the second one", file, m[1], m[2], m[3])
	}
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	if strings.Contains(msg, "yaml: ") {
		problem += " (YAML syntax)"
	}
	text := ""
	if lines := strings.Split(string(content), "\n"); line >= 1 && line <= len(lines) {
		text = strings.TrimSpace(lines[line-1])
	}
	if m := aliasValue.FindStringSubmatch(text); m != nil && strings.Contains(problem, "alphabetic or numeric") {
		v := strings.TrimSpace(m[1])
		return fmt.Errorf("%s:%d: %s: YAML reads a value starting with * as an alias (a reference to an &anchor); quote it: %q", file, line, v, v)
	}
	return fmt.Errorf("%s:%d: %s", file, line, problem)
}
