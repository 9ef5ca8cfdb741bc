#!/usr/bin/env bash
# t0651: pod securityContext.fsGroup on runc containers, as the kubelet's volume ownership: a
# container running as 1000 with fsGroup 2000 has 2000 among its groups, a file it creates in an
# emptyDir gets group 2000 (setgid directory), a configMap file of defaultMode 0440 is group
# 2000 and readable by it; a hostPath volume is left as it was. Without fsGroup the same
# configMap file is not readable by user 1000 (the check can fail).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb

HP=$TEST_DIR/hp
mkdir -p "$HP" && chmod 0755 "$HP" && echo host >"$HP/old" && chmod 0644 "$HP/old"
kubectl create configmap cfg --from-literal=key=secret-value >/dev/null

pod() { # pod NAME SECURITY-CONTEXT
    cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  securityContext: $2
  volumes:
  - {name: data, emptyDir: {}}
  - {name: cfg, configMap: {name: cfg, defaultMode: 0440}}
  - {name: hp, hostPath: {path: $HP}}
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "id; echo hi >/data/new; stat -c 'new %g' /data/new; stat -c 'data %g %a' /data; cat /cfg/key && echo ' readable'; stat -L -c 'cfg %g %a' /cfg/key; echo done; sleep 1000"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cfg, mountPath: /cfg}
    - {name: hp, mountPath: /hp}
Y
}
pod fsg '{runAsUser: 1000, fsGroup: 2000}'
pod nofsg '{runAsUser: 1000}'
wait_for 90 "both pods ran their checks" -- sh_eval \
    'kubectl logs fsg | grep -q done && kubectl logs nofsg | grep -q done'
LOG=$(kubectl logs fsg)
say "$LOG"
case $(echo "$LOG" | grep '^uid=') in
*uid=1000*groups=*2000*) pass "id shows uid 1000 and the fsGroup 2000 among the groups" ;;
*) fail "id: $(echo "$LOG" | grep '^uid=')" ;;
esac
expect_eq "$(echo "$LOG" | grep '^new ')" "new 2000" "a file the container creates in the emptyDir has group 2000"
expect_eq "$(echo "$LOG" | grep '^data ')" "data 2000 2777" "the emptyDir is group 2000, setgid, rwxrwxrwx"
expect_eq "$(echo "$LOG" | grep 'readable')" "secret-value readable" "user 1000 reads the 0440 configMap file"
expect_eq "$(echo "$LOG" | grep '^cfg ')" "cfg 2000 440" "the configMap file is group 2000, mode 0440"

NOLOG=$(kubectl logs nofsg)
echo "$NOLOG" | grep -q 'readable' && fail "without fsGroup user 1000 read the 0440 file" ||
    pass "without fsGroup the 0440 configMap file is not readable by user 1000"
case $(echo "$NOLOG" | grep '^uid=') in
*2000*) fail "2000 among the groups without fsGroup" ;;
*) pass "without fsGroup, 2000 is not among the groups" ;;
esac

expect_eq "$(stat -c '%g %a' "$HP")" "0 755" "the hostPath directory is untouched"
expect_eq "$(stat -c '%g %a' "$HP/old")" "0 644" "a file of the hostPath is untouched"
pods_gone
finish
