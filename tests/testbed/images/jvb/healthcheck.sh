#!/bin/bash

curl --fail-with-body http://127.0.0.1:8080/about/health
