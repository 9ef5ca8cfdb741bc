# Helpers for the Rollout tests (t1320-t1329). Source after lib.sh and deploy-lib.sh.
#   ro_manifest NAME REPLICAS IMAGE STRATEGY-YAML   prints a Rollout (app=NAME) whose
#                                                   strategy block is given indented by 4
#   svc_apply NAME APP                              a Service selecting app=APP on port 80
#   ro_field NAME JSONPATH, ro_phase NAME ("Phase/message"), rs_of NAME HASH (RS name)

ro_manifest() {
    local name=$1 r=$2 img=$3 strat=$4
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: $name
spec:
  replicas: $r
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: $img
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 1
  strategy:
$strat
Y
}

svc_apply() {
    kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $2}
  ports: [{port: 80, targetPort: 8080}]
Y
}

ro_field() { kubectl get ro "$1" -o jsonpath="{$2}"; }
ro_phase() { kubectl get ro "$1" -o jsonpath='{.status.phase}/{.status.message}'; }
ro_is() { [ "$(ro_phase "$1")" = "$2" ]; }
svc_hash() { kubectl get svc "$1" -o jsonpath='{.spec.selector.rollouts-pod-template-hash}'; }
rs_of() { echo "$1-$2"; }
rs_spec_avail() { kubectl get rs "$1" -o jsonpath='{.spec.replicas}/{.status.availableReplicas}'; }
ro_cond() { kubectl get ro "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"; }
ro_status_patch() { kubectl patch ro "$1" --subresource=status --type merge -p "$2" >/dev/null; }
ro_image() {
    kubectl patch ro "$1" --type json \
        -p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"$2\"}]" >/dev/null
}
# kroll rollouts against this test's server, bounded so that a hang fails one check only.
kr() { timeout 60 "$KROLL_BIN" rollouts --data-dir "$KROLL_DATA" "$@"; }
