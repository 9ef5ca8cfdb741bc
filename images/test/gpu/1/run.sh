#!/bin/sh
while :; do sleep 0.2; done
