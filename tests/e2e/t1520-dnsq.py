#!/usr/bin/python3
# t1520 helper: N DNS queries over UDP (each must answer the id with one A record) and two
# pipelined SRV queries over one TCP connection, against the cluster DNS of the current netns.
# usage: t1520-dnsq.py NAME N
import socket, struct, time, sys
def q(name, qtype=1, id=7):
    h=struct.pack('>HHHHHH', id, 0x0100, 1,0,0,0)
    return h+b''.join(bytes([len(l)])+l.encode() for l in name.split('.'))+b'\0'+struct.pack('>HH', qtype, 1)
name=sys.argv[1]; n=int(sys.argv[2])
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
lat=[]
t0=time.time()
for i in range(n):
    t=time.perf_counter(); s.sendto(q(name, id=i&0xffff), ('127.77.0.10',53)); r=s.recv(600); lat.append(time.perf_counter()-t)
    assert r[:2]==struct.pack('>H', i&0xffff) and (r[3]&15)==0 and struct.unpack('>H',r[6:8])[0]==1, r
el=time.time()-t0; lat.sort()
print("udp: %d queries in %.2fs (%.0f/s), p50 %.0f us, p99 %.0f us"%(n, el, n/el, lat[n//2]*1e6, lat[int(n*.99)]*1e6))
t=socket.create_connection(('127.77.0.10',53), timeout=2)
m=q(name, qtype=33, id=99); t.sendall(struct.pack('>H',len(m))+m+struct.pack('>H',len(m))+m)
for k in range(2):
    ln=struct.unpack('>H', t.recv(2, socket.MSG_WAITALL))[0]; r=t.recv(ln, socket.MSG_WAITALL)
    print("tcp: reply %d bytes id %d rcode %d answers %d"%(ln, struct.unpack('>H',r[:2])[0], r[3]&15, struct.unpack('>H',r[6:8])[0]))
