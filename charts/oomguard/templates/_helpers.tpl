{{- define "oomguard.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oomguard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "oomguard.labels" -}}
app.kubernetes.io/name: {{ include "oomguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "oomguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oomguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oomguard.tlsSecretName" -}}
{{- printf "%s-tls" (include "oomguard.fullname" .) -}}
{{- end -}}

{{- define "oomguard.serviceName" -}}
{{- include "oomguard.fullname" . -}}
{{- end -}}

{{- /* The chart obeys its own rules: its pods are Guaranteed QoS (requests == limits). */ -}}
{{- define "oomguard.checkResources" -}}
{{- $r := .Values.resources -}}
{{- range $name := list "cpu" "memory" -}}
{{- if ne (toString (index $r.requests $name)) (toString (index $r.limits $name)) -}}
{{- fail (printf "resources.requests.%s (%v) must equal resources.limits.%s (%v): the webhook pods must be Guaranteed QoS" $name (index $r.requests $name) $name (index $r.limits $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The webhook server and its objects: admission.engine webhook (default) or both. */ -}}
{{- define "oomguard.webhook" -}}
{{- if ne .Values.admission.engine "vap" }}true{{ end -}}
{{- end -}}

{{- /* The webhook answers before kube-apiserver gives up on it: policy.webhook.judge-timeout
(seconds one review may be judged for) must be below webhook.timeoutSeconds. */ -}}
{{- define "oomguard.checkJudgeTimeout" -}}
{{- $settings := (.Values.policy | default dict).webhook | default dict -}}
{{- $budget := index $settings "judge-timeout" | default 2 -}}
{{- if ge (float64 $budget) (float64 .Values.webhook.timeoutSeconds) -}}
{{- fail (printf "policy.webhook.judge-timeout (%v) must be below webhook.timeoutSeconds (%v): kube-apiserver would time the webhook out first (failurePolicy decides then)" $budget .Values.webhook.timeoutSeconds) -}}
{{- end -}}
{{- end -}}

{{- /* The policy file: .Values.policy with webhook.action set from the chart's
webhook.action (written only when not deny, the server's default). A policy that names
another action of its own is refused: one knob, no guessing which wins. */ -}}
{{- define "oomguard.policy" -}}
{{- $policy := deepCopy (.Values.policy | default dict) -}}
{{- $action := .Values.webhook.action | default "deny" -}}
{{- $own := "" -}}
{{- if kindIs "map" $policy.webhook }}{{ $own = $policy.webhook.action | default "" }}{{ end -}}
{{- if and $own (ne $own $action) -}}
{{- fail (printf "policy.webhook.action (%s) and webhook.action (%s) disagree: set the enforcement action with webhook.action" $own $action) -}}
{{- end -}}
{{- if ne $action "deny" -}}
{{- $webhook := $policy.webhook | default dict -}}
{{- $_ := set $webhook "action" $action -}}
{{- $_ := set $policy "webhook" $webhook -}}
{{- end -}}
{{- toYaml $policy -}}
{{- end -}}
